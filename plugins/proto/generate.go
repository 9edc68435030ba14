package proto

// protoc, protoc-gen-go (google.golang.org/protobuf/cmd/protoc-gen-go, same
// version as google.golang.org/protobuf in go.mod) and protoc-gen-go-grpc
// (google.golang.org/grpc/cmd/protoc-gen-go-grpc) must be on PATH.
//go:generate protoc --proto_path=. --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative delivery.proto identity.proto
