package payloadcodec

import (
	"crypto/subtle"
	"net"
	"net/http"
	"strings"

	"go.temporal.io/sdk/converter"
)

// HandlerOptions configure the codec endpoint.
type HandlerOptions struct {
	// Token, when set, must come with every encode and decode as
	// "Authorization: Bearer <token>" (the Temporal CLI's --codec-auth).
	// Without a token only requests addressed to a loopback host are
	// served, so that a web page rebinding its name to 127.0.0.1 cannot
	// use the endpoint.
	Token string
	// CORSOrigin is the one browser origin allowed to call the endpoint
	// (the Temporal UI's, e.g. http://localhost:8233). Requests from any
	// other origin are refused.
	CORSOrigin string
	// MaxBodyBytes bounds a request body; default 4 MiB (twice Temporal's
	// default payload size limit).
	MaxBodyBytes int64
}

const defaultMaxBodyBytes = 4 << 20

// NewHandler serves the Temporal remote codec protocol for codec: POST
// {base}/encode and {base}/decode with a JSON body {"payloads": [...]} in
// the protobuf JSON form, answered in the same form. A payload that does
// not decrypt answers 400.
func NewHandler(codec converter.PayloadCodec, opts HandlerOptions) http.Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = defaultMaxBodyBytes
	}
	return &handler{opts: opts, next: converter.NewPayloadCodecHTTPHandler(codec)}
}

type handler struct {
	opts HandlerOptions
	next http.Handler
}

// corsHeaders are the request headers the Temporal UI and CLI send.
const corsHeaders = "Authorization, Content-Type, X-Namespace"

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if origin := r.Header.Get("Origin"); origin != "" {
		// A browser page may only call from the configured UI origin.
		if h.opts.CORSOrigin == "" || origin != h.opts.CORSOrigin {
			http.Error(w, "origin not allowed", http.StatusForbidden)
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
		w.Header().Add("Vary", "Origin")
		if r.Method == http.MethodOptions {
			// The preflight carries no Authorization header: answer it
			// before the token check.
			w.Header().Set("Access-Control-Allow-Methods", "POST")
			w.Header().Set("Access-Control-Allow-Headers", corsHeaders)
			w.Header().Set("Access-Control-Max-Age", "600")
			if r.Header.Get("Access-Control-Request-Private-Network") == "true" {
				w.Header().Set("Access-Control-Allow-Private-Network", "true")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	if h.opts.Token == "" && !loopbackHost(r.Host) {
		http.Error(w, "host not allowed", http.StatusForbidden)
		return
	}
	if h.opts.Token != "" && !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="flexauth codec"`)
		http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes)
	w.Header().Set("Cache-Control", "no-store")
	h.next.ServeHTTP(w, r)
}

func (h *handler) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(h.opts.Token)) == 1
}

// loopbackHost tells whether a Host header names this machine's loopback
// interface: localhost or a loopback IP, with or without a port.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LoopbackAddr tells whether a listen address (host:port) binds only the
// loopback interface; ":8089" binds every interface.
func LoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && host != "" && loopbackHost(host)
}
