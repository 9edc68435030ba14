// Package wire holds what both ends of the plugin protocol agree on besides
// the gRPC services of plugins/proto: the go-plugin handshake, the
// protocol version, and the google.rpc.ErrorInfo by which a plugin's error
// says that the plugin produced it and whether it is permanent.
//
// The plugin's end (plugins/sdk) and the host's (plugins/internal/grpcclient)
// import it, so that neither exports these to the other. It must import
// nothing of flexauth: plugins/sdk, which every external plugin compiles
// against, depends on it.
package wire
