# The worker (and the example worker with the custom action the examples
# use), for docker-compose.yml or any container platform. The Go version
# is go.mod's (a test holds them equal).
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/worker ./worker \
 && CGO_ENABLED=0 go build -trimpath -o /out/example-worker ./examples/custom-action \
 && CGO_ENABLED=0 go build -trimpath -o /out/starter ./starter

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /usr/local/bin/
ENTRYPOINT ["/usr/local/bin/worker"]
# No HEALTHCHECK: the probe (`worker --health-probe`, which asks /readyz)
# needs STATEDRIVEN_HTTP_ADDRESS, off unless set, so a check built into
# the image would call every container without it unhealthy. Where the
# address is set, the deployment names the check: docker-compose.yml's
# healthcheck, or a Kubernetes probe on /readyz and /healthz.
