# The flexauth image: one static binary, which also serves the built-in
# plugins (smtp, sms, webhook, outbox, directory, oidc) by re-executing
# itself as `flexauth plugin serve NAME`, so no plugin files are copied.
# Build: docker build -t flexauth .

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/flexauth ./cmd/flexauth

# distroless/static: no shell, no package manager; runs as uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/flexauth /usr/local/bin/flexauth
USER nonroot:nonroot
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/flexauth"]
CMD ["--help"]
