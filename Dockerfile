# Build a static binary, then run it as a non-root user in a small image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/liveshop ./cmd/liveshop \
 && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/liveshop-load ./cmd/liveshop-load \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/liveshop /out/liveshop-load /usr/local/bin/
COPY --from=build --chown=nonroot:nonroot /out/data /data
# Listen on every interface inside the container (the default 127.0.0.1 is
# unreachable through a published port). The UDP port is the server's
# default, spelled out so that it and EXPOSE visibly agree; behind Docker's
# NAT also set LIVESHOP_WEBRTC_ANNOUNCE_IPS to the host's public address.
ENV LIVESHOP_ADDR=0.0.0.0:8080 \
    LIVESHOP_DATA_DIR=/data \
    LIVESHOP_WEBRTC_UDP_PORT=8189
# HTTP (API, pages, WHIP/WHEP signalling) and the single WebRTC UDP port.
EXPOSE 8080/tcp 8189/udp
VOLUME ["/data"]
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/liveshop"]
