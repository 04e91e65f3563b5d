# termin: `make run` for the demo, `make test` for every test, `make bench`
# for the rush benchmark (writes docs/benchmarks.md).
.PHONY: run test bench build vet fmt clean

run:
	@deploy/run.sh

test:
	@deploy/test.sh

bench:
	@deploy/bench.sh

build:
	go build -o bin/ ./server

vet:
	gofmt -l . | tee /dev/stderr | (! read)
	go vet ./...

clean:
	rm -rf bin .run
