# The worker and the starter in one small image (distroless: no shell; the compose health
# check runs `worker -healthcheck`).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The Worker Deployment build id (docs/deploy.md "Worker Versioning"): BUILD_ID when given
# (e.g. the git revision), else a digest of the sources built, so a rebuild of unchanged
# sources keeps its id and any change gets a new one. .git is not in the build context.
ARG BUILD_ID=""
RUN id="${BUILD_ID:-$(find . -name '*.go' ! -name '*_test.go' -o -name go.mod -o -name go.sum | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-12)}" && \
    echo "build id: $id" && \
    CGO_ENABLED=0 go build -trimpath -tags nodev -ldflags "-X github.com/prospect-sync/prospect-sync/app.stampedBuildID=$id" -o /out/worker ./worker && \
    CGO_ENABLED=0 go build -trimpath -o /out/starter ./starter

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/worker /out/starter /usr/local/bin/
ENTRYPOINT ["/usr/local/bin/worker"]
