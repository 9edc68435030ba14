package sdk

import (
	"context"

	"github.com/flexauth/flexauth/plugins/proto"
)

// gRPCServer runs in the plugin process and forwards gRPC calls to the
// author's Delivery.
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
	return infoToProto(info), nil
}

// identityServer runs in the plugin process and forwards gRPC calls to the
// author's IdentityProvider.
type identityServer struct {
	proto.UnimplementedIdentityServer
	impl IdentityProvider
}

func (s *identityServer) Configure(ctx context.Context, req *proto.ConfigureRequest) (*proto.ConfigureResponse, error) {
	if err := s.impl.Configure(ctx, req.GetConfig()); err != nil {
		return nil, toStatus(err)
	}
	return &proto.ConfigureResponse{}, nil
}

func (s *identityServer) Info(ctx context.Context, _ *proto.InfoRequest) (*proto.InfoResponse, error) {
	info, err := s.impl.Info(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return infoToProto(info), nil
}

func (s *identityServer) Lookup(ctx context.Context, req *proto.LookupRequest) (*proto.LookupResponse, error) {
	id, err := s.impl.Lookup(ctx, LookupRequest{Account: req.GetAccount(), AuthID: req.GetAuthid()})
	if err != nil {
		return nil, toStatus(err)
	}
	if !id.Found {
		return &proto.LookupResponse{}, nil
	}
	return &proto.LookupResponse{
		Found:      true,
		Name:       id.Name,
		Email:      id.Email,
		Phone:      id.Phone,
		Groups:     id.Groups,
		Attributes: id.Attributes,
	}, nil
}

// infoToProto is shared by every kind's server. Info.Kind does not cross:
// the host knows the kind from the service that answered.
func infoToProto(info Info) *proto.InfoResponse {
	return &proto.InfoResponse{
		Name:         info.Name,
		Version:      info.Version,
		Channels:     info.Channels,
		Capabilities: info.Capabilities,
	}
}
