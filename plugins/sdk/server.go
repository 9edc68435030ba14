package sdk

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/flexauth/flexauth/plugins/proto"
)

// deliveryServer runs in the plugin process and forwards gRPC calls to the
// author's Delivery, sending each request ID once (see ledger).
type deliveryServer struct {
	proto.UnimplementedDeliveryServer
	impl Delivery
	sent *ledger
}

func (s *deliveryServer) Configure(ctx context.Context, req *proto.ConfigureRequest) (*proto.ConfigureResponse, error) {
	if err := s.impl.Configure(ctx, ConfigureRequest{Config: req.GetConfig()}); err != nil {
		return nil, toStatus(err)
	}
	return &proto.ConfigureResponse{}, nil
}

func (s *deliveryServer) Send(ctx context.Context, req *proto.SendRequest) (*proto.SendResponse, error) {
	resp, err := s.sent.send(ctx, SendRequest{
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
	}, s.impl.Send)
	if err != nil {
		return nil, toStatus(err)
	}
	return &proto.SendResponse{MessageId: resp.MessageID}, nil
}

func (s *deliveryServer) Info(ctx context.Context, _ *proto.InfoRequest) (*proto.InfoResponse, error) {
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
	if err := s.impl.Configure(ctx, ConfigureRequest{Config: req.GetConfig()}); err != nil {
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

// signOn returns the author's SignOn, or the UNIMPLEMENTED status the host
// turns into a permanent "does not implement" error. The status carries no
// plugin ErrorInfo, exactly like the answer of a plugin built before
// Authorize and Exchange existed.
func (s *identityServer) signOn(method string) (SignOn, error) {
	so, ok := s.impl.(SignOn)
	if !ok {
		return nil, status.Errorf(codes.Unimplemented, "method %s not implemented: capability %q not offered", method, CapabilitySignOn)
	}
	return so, nil
}

func (s *identityServer) Authorize(ctx context.Context, req *proto.AuthorizeRequest) (*proto.AuthorizeResponse, error) {
	so, err := s.signOn("Authorize")
	if err != nil {
		return nil, err
	}
	resp, err := so.Authorize(ctx, AuthorizeRequest{
		Account:       req.GetAccount(),
		AuthID:        req.GetAuthid(),
		State:         req.GetState(),
		Nonce:         req.GetNonce(),
		CodeChallenge: req.GetCodeChallenge(),
		RedirectURI:   req.GetRedirectUri(),
		LoginHint:     req.GetLoginHint(),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &proto.AuthorizeResponse{Url: resp.URL}, nil
}

func (s *identityServer) Exchange(ctx context.Context, req *proto.ExchangeRequest) (*proto.ExchangeResponse, error) {
	so, err := s.signOn("Exchange")
	if err != nil {
		return nil, err
	}
	c, err := so.Exchange(ctx, ExchangeRequest{
		Code:         req.GetCode(),
		CodeVerifier: req.GetCodeVerifier(),
		Nonce:        req.GetNonce(),
		RedirectURI:  req.GetRedirectUri(),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &proto.ExchangeResponse{
		Subject:       c.Subject,
		Issuer:        c.Issuer,
		Email:         c.Email,
		EmailVerified: c.EmailVerified,
		EmailProof:    c.EmailProof,
		Name:          c.Name,
		Claims:        c.Extra,
		Provider:      c.Provider,
		ProfileRead:   c.ProfileRead,
		Position:      c.Position,
		Phone:         c.Phone,
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
