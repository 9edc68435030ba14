package testplugin

import (
	"context"
	"errors"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/flexauth/flexauth/plugins/internal/wire"
	"github.com/flexauth/flexauth/plugins/proto"
	"github.com/flexauth/flexauth/plugins/sdk"
)

// Serve serves a Plugin with fault as a plugin process. The faults about
// repeated IDs (Redeliver, RacyRetry) cannot show through sdk.ServeDelivery,
// which remembers delivered IDs itself; those are served the way a plugin
// written without the SDK (in another language) is: over the gRPC protocol
// directly.
func Serve(fault Fault) {
	impl := New(fault)
	if fault != Redeliver && fault != RacyRetry {
		sdk.ServeDelivery(impl)
		return
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: wire.HandshakeConfig(),
		VersionedPlugins: map[int]plugin.PluginSet{
			wire.ProtocolVersion: {sdk.KindDelivery: &protocolPlugin{impl: impl}},
		},
		GRPCServer: plugin.DefaultGRPCServer,
	})
}

// protocolPlugin serves impl over the delivery protocol with nothing of the
// SDK's server in between.
type protocolPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl *Plugin
}

func (p *protocolPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	proto.RegisterDeliveryServer(s, &protocolServer{impl: p.impl})
	return nil
}

func (p *protocolPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("testplugin is served, never dispensed")
}

type protocolServer struct {
	proto.UnimplementedDeliveryServer
	impl *Plugin
}

func (s *protocolServer) Info(ctx context.Context, _ *proto.InfoRequest) (*proto.InfoResponse, error) {
	info, err := s.impl.Info(ctx)
	if err != nil {
		return nil, protocolStatus(err)
	}
	return &proto.InfoResponse{Name: info.Name, Version: info.Version, Channels: info.Channels}, nil
}

func (s *protocolServer) Configure(ctx context.Context, req *proto.ConfigureRequest) (*proto.ConfigureResponse, error) {
	if err := s.impl.Configure(ctx, sdk.ConfigureRequest{Config: req.GetConfig()}); err != nil {
		return nil, protocolStatus(err)
	}
	return &proto.ConfigureResponse{}, nil
}

func (s *protocolServer) Send(ctx context.Context, req *proto.SendRequest) (*proto.SendResponse, error) {
	resp, err := s.impl.Send(ctx, sdk.SendRequest{ID: req.GetId(), Channel: req.GetChannel(), To: req.GetTo(), Attempt: req.GetAttempt()})
	if err != nil {
		return nil, protocolStatus(err)
	}
	return &proto.SendResponse{MessageId: resp.MessageID}, nil
}

// protocolStatus is what the protocol asks of a plugin's errors:
// INVALID_ARGUMENT for permanent ones, another code for temporary ones,
// with an ErrorInfo in the plugins' domain saying the plugin answered.
func protocolStatus(err error) error {
	code, reason := codes.Unavailable, wire.ReasonTemporary
	switch {
	case errors.Is(err, sdk.ErrPermanent):
		code, reason = codes.InvalidArgument, wire.ReasonPermanent
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	}
	st, detailErr := status.New(code, err.Error()).WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: wire.ErrorDomain})
	if detailErr != nil {
		return status.Error(code, err.Error())
	}
	return st.Err()
}
