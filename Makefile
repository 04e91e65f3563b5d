# termin: `make run` for the demo, `make test` for every test, `make bench`
# for the rush benchmark (writes docs/benchmarks.md), `make soak` for ten
# minutes of steady mixed load (writes docs/soak.md; SOAK_DURATION=30s for
# a short check).
.PHONY: run test bench soak build image kiosk-cross vet fmt clean

run:
	@deploy/run.sh

test:
	@deploy/test.sh

bench:
	@deploy/bench.sh

soak:
	@deploy/soak.sh

build:
	go build -o bin/ ./server

# The server and kiosk images (deploy/Containerfile), built with buildah
# without pulling from a registry.
image:
	@deploy/image.sh

# The kiosk agent for Windows counter PCs and a Raspberry Pi at the gate.
kiosk-cross:
	GOOS=windows GOARCH=amd64 go build -o bin/kiosk-windows-amd64.exe ./kiosk
	GOOS=linux GOARCH=arm64 go build -o bin/kiosk-linux-arm64 ./kiosk

vet:
	gofmt -l . | tee /dev/stderr | (! read)
	go vet ./...

clean:
	rm -rf bin .run
