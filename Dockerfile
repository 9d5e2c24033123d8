# syntax=docker/dockerfile:1
# The mqtt-check binary in a small image: a static build (CGO_ENABLED=0)
# copied onto distroless/static, run as a non-root user.
#
#   docker build -t mqtt-check --build-arg VERSION=$(git describe --always --dirty) .
#   docker run --rm --network host -v "$PWD/out:/out" mqtt-check \
#       run --target 127.0.0.1:1883 --report-dir /out
#
# With no --target, `mqtt-check run` checks its own embedded reference
# broker, so `docker run --rm mqtt-check run` needs nothing else. The
# report directory must be writable by uid 65532.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -buildvcs=false \
        -ldflags "-s -w -X main.version=${VERSION}" \
        -o /out/mqtt-check ./cmd/mqtt-check

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/mqtt-check /usr/local/bin/mqtt-check
# distroless's "nonroot" user, by number so that runAsNonRoot can check it.
USER 65532:65532
WORKDIR /home/nonroot
ENTRYPOINT ["/usr/local/bin/mqtt-check"]
CMD ["help"]
