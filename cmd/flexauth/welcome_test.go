package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/plugins/host"
)

// linkTTLCase is one setting of a link lifetime flag and what it gives.
type linkTTLCase struct {
	name    string
	env     string
	args    []string
	want    time.Duration
	wantErr string
}

// testLinkTTLFlag checks one link lifetime flag of the worker (and of
// dev, which registers the same flags): its default, its environment
// variable, the flag over the environment, and the refusals. The other
// link lifetimes keep their defaults.
func testLinkTTLFlag(t *testing.T, envVar string, get func(activities.Config) time.Duration, tests []linkTTLCase) {
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("FLEXAUTH_WELCOME_LINK_TTL", "")
			t.Setenv("FLEXAUTH_RESET_LINK_TTL", "")
			t.Setenv(envVar, tt.env)
			fs := flag.NewFlagSet("worker", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var pf pluginFlags
			pf.register(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			plugins, cfg, err := pf.host(slog.New(slog.DiscardHandler), activities.Config{}, host.Options{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer plugins.Close()
			if got := get(cfg); got != tt.want {
				t.Fatalf("%s gives %v, want %v", envVar, got, tt.want)
			}
			if envVar != "FLEXAUTH_WELCOME_LINK_TTL" && cfg.WelcomeLinkTTL != attempt.DefaultWelcomeLinkTTL {
				t.Fatalf("WelcomeLinkTTL = %v, want its default", cfg.WelcomeLinkTTL)
			}
		})
	}
}

func TestWelcomeLinkTTLFlag(t *testing.T) {
	testLinkTTLFlag(t, "FLEXAUTH_WELCOME_LINK_TTL", func(c activities.Config) time.Duration { return c.WelcomeLinkTTL }, []linkTTLCase{
		{name: "72 hours by default", want: 72 * time.Hour},
		{name: "the environment sets it", env: "24h", want: 24 * time.Hour},
		{name: "the flag wins over the environment", env: "24h", args: []string{"--welcome-link-ttl", "30m"}, want: 30 * time.Minute},
		{name: "a bad value in the environment", env: "three days", wantErr: `FLEXAUTH_WELCOME_LINK_TTL="three days"`},
		{name: "under a minute", args: []string{"--welcome-link-ttl", "10s"}, wantErr: "--welcome-link-ttl 10s: at least 1m"},
	})
	t.Run("the worker refuses a bad value before it connects to anything", func(t *testing.T) {
		t.Setenv("FLEXAUTH_WELCOME_LINK_TTL", "")
		t.Setenv("FLEXAUTH_MASTER_KEY", "")
		err := runWorker(context.Background(), []string{"--welcome-link-ttl", "0s"}, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), "at least 1m") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestResetLinkTTLFlag(t *testing.T) {
	testLinkTTLFlag(t, "FLEXAUTH_RESET_LINK_TTL", func(c activities.Config) time.Duration { return c.ResetLinkTTL }, []linkTTLCase{
		{name: "an hour by default", want: time.Hour},
		{name: "the environment sets it", env: "30m", want: 30 * time.Minute},
		{name: "the flag wins over the environment", env: "30m", args: []string{"--reset-link-ttl", "2h"}, want: 2 * time.Hour},
		{name: "a bad value in the environment", env: "an hour", wantErr: `FLEXAUTH_RESET_LINK_TTL="an hour"`},
		{name: "under a minute", args: []string{"--reset-link-ttl", "10s"}, wantErr: "--reset-link-ttl 10s: at least 1m"},
	})
}
