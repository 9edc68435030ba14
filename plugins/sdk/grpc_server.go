package sdk

import (
	"context"

	"github.com/flexauth/flexauth/plugins/proto"
)

// gRPCServer runs in the plugin process and forwards gRPC calls to the
// author's implementation.
type gRPCServer struct {
	proto.UnimplementedDeliveryServer
	impl Delivery
}

func (s *gRPCServer) Configure(ctx context.Context, req *proto.ConfigureRequest) (*proto.ConfigureResponse, error) {
	if err := s.impl.Configure(ctx, req.GetConfig()); err != nil {
		return nil, toStatus(err)
	}
	return &proto.ConfigureResponse{}, nil
}

func (s *gRPCServer) Send(ctx context.Context, req *proto.SendRequest) (*proto.SendResponse, error) {
	resp, err := s.impl.Send(ctx, SendRequest{
		ID:       req.GetId(),
		Channel:  req.GetChannel(),
		To:       req.GetTo(),
		Subject:  req.GetSubject(),
		Text:     req.GetText(),
		HTML:     req.GetHtml(),
		Link:     req.GetLink(),
		Code:     req.GetCode(),
		Attempt:  req.GetAttempt(),
		Metadata: req.GetMetadata(),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &proto.SendResponse{MessageId: resp.MessageID}, nil
}

func (s *gRPCServer) Info(ctx context.Context, _ *proto.InfoRequest) (*proto.InfoResponse, error) {
	info, err := s.impl.Info(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &proto.InfoResponse{Name: info.Name, Version: info.Version, Channels: info.Channels}, nil
}
