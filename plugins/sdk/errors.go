package sdk

import (
	"context"
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/flexauth/flexauth/plugins/internal/wire"
)

// ErrPermanent is wrapped by every error that retrying cannot fix: a bad
// recipient, a bad configuration. On the host, errors.Is(err, ErrPermanent)
// tells the caller to stop retrying. It serves every plugin kind, hence the
// neutral wording.
var ErrPermanent = errors.New("permanent plugin failure")

// ErrWrongKind is returned on the host (wrapped together with ErrPermanent)
// when a plugin process serves another kind than the one it was used as,
// e.g. a delivery plugin configured as an identity plugin. Dispensing makes
// no call, so the first call (Configure, after a launch) is where it shows.
var ErrWrongKind = errors.New("plugin is of another kind")

// ErrPluginExited is returned on the host when the plugin process is gone
// (crashed or killed), before or during a call. It is temporary: the host
// relaunches the plugin on the next call.
var ErrPluginExited = errors.New("plugin process exited")

// ErrRefused is wrapped (together with ErrPermanent) by a sign-on refusal
// that is not a failed verification: the provider's answer is genuine, but
// the plugin does not admit the user it names (an email domain not
// allowed). flexauth does not count it as a guessed code.
var ErrRefused = errors.New("sign-on refused")

// Refused marks err as a refusal of a genuine sign-on (see ErrRefused); it
// is permanent too. It crosses the process boundary as
// codes.InvalidArgument with the ErrorInfo reason "REFUSED", so a host that
// predates it still sees a permanent error. Refused(nil) is nil.
func Refused(err error) error {
	if err == nil {
		return nil
	}
	return &refusedError{err: err}
}

type refusedError struct{ err error }

func (e *refusedError) Error() string { return e.err.Error() }

// Unwrap lets errors.Is find ErrRefused, ErrPermanent and the cause.
func (e *refusedError) Unwrap() []error { return []error{e.err, ErrRefused, ErrPermanent} }

// Permanent marks err as not worth retrying. It crosses the process boundary
// as gRPC codes.InvalidArgument, so the host sees an error wrapping
// ErrPermanent. Errors not marked are temporary and cross as
// codes.Unavailable. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }

// Unwrap lets errors.Is find both ErrPermanent and the cause.
func (e *permanentError) Unwrap() []error { return []error{e.err, ErrPermanent} }

// toStatus turns an error returned by a plugin implementation into the gRPC
// status error the host receives, marked with an ErrorInfo in
// wire.ErrorDomain as the plugin's own answer.
func toStatus(err error) error {
	var code codes.Code
	reason := wire.ReasonTemporary
	switch {
	case errors.Is(err, ErrRefused):
		code, reason = codes.InvalidArgument, wire.ReasonRefused
	case errors.Is(err, ErrPermanent):
		code, reason = codes.InvalidArgument, wire.ReasonPermanent
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	default:
		// An author may return a gRPC status error to choose the code
		// themselves; keep it.
		if st, ok := status.FromError(err); ok {
			code = st.Code()
		} else {
			code = codes.Unavailable
		}
	}
	st, detailErr := status.New(code, err.Error()).WithDetails(&errdetails.ErrorInfo{
		Reason: reason,
		Domain: wire.ErrorDomain,
	})
	if detailErr != nil {
		// Marshalling a two-field message does not fail; if it ever does,
		// the bare status still carries the right code.
		return status.Error(code, err.Error())
	}
	return st.Err()
}
