package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"

	"github.com/flexauth/flexauth/payloadcodec"
	"github.com/flexauth/flexauth/secret"
)

// runCodecServer serves the Temporal remote codec protocol, so that an
// operator holding the master key can read flexauth's encrypted workflow
// histories in the Temporal UI or CLI. It listens on loopback unless given
// a token.
func runCodecServer(ctx context.Context, args []string, logger *slog.Logger) error {
	fs := flag.NewFlagSet("codec-server", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8089", "listen address; one other than loopback needs a token")
	corsOrigin := fs.String("cors-origin", "", "the Temporal UI's origin allowed to call from a browser, e.g. http://localhost:8233")
	token := fs.String("token", "", "bearer token every request must carry (prefer env FLEXAUTH_CODEC_TOKEN: flags show in ps)")
	keyFile := fs.String("master-key-file", "", "read the master key from this file (e.g. a dev data folder's master.key) instead of FLEXAUTH_MASTER_KEY")
	err := fs.Parse(args)
	if err != nil {
		return err
	}
	if *token == "" {
		*token = os.Getenv("FLEXAUTH_CODEC_TOKEN")
	}
	if *token == "" && !payloadcodec.LoopbackAddr(*addr) {
		return fmt.Errorf("codec-server on %s: an address other than loopback needs --token or FLEXAUTH_CODEC_TOKEN", *addr)
	}
	if *corsOrigin != "" {
		if *corsOrigin, err = origin(*corsOrigin); err != nil {
			return err
		}
	}
	keys, err := codecKeyring(*keyFile)
	if err != nil {
		return err
	}
	h := payloadcodec.NewHandler(payloadcodec.New(keys), payloadcodec.HandlerOptions{Token: *token, CORSOrigin: *corsOrigin})
	logger.Info("codec server listening", "addr", *addr, "key_ids", keys.PayloadKeyIDs(),
		"token_required", *token != "", "cors_origin", *corsOrigin)
	return serveHTTP(ctx, newHTTPServer(*addr, h))
}

// codecKeyring reads the master key from file, or else from
// FLEXAUTH_MASTER_KEY, with FLEXAUTH_PREVIOUS_MASTER_KEYS in both cases.
func codecKeyring(file string) (*secret.Keyring, error) {
	if file == "" {
		return envKeyring()
	}
	return fileKeyring(file)
}

// origin returns s as a browser sends it in Origin (scheme://host[:port]),
// refusing anything else.
func origin(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", errors.New("--cors-origin must be an origin such as http://localhost:8233 (scheme and host, no path)")
	}
	return u.Scheme + "://" + u.Host, nil
}
