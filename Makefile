# termin: `make run` for the demo, `make test` for every test.
.PHONY: run test build vet fmt clean

run:
	@deploy/run.sh

test:
	@deploy/test.sh

build:
	go build -o bin/ ./server

vet:
	gofmt -l . | tee /dev/stderr | (! read)
	go vet ./...

clean:
	rm -rf bin .run
