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
)

func TestWelcomeLinkTTLFlag(t *testing.T) {
	tests := []struct {
		name    string
		env     string
		args    []string
		want    time.Duration
		wantErr string
	}{
		{name: "72 hours by default", want: 72 * time.Hour},
		{name: "the environment sets it", env: "24h", want: 24 * time.Hour},
		{name: "the flag wins over the environment", env: "24h", args: []string{"--welcome-link-ttl", "30m"}, want: 30 * time.Minute},
		{name: "a bad value in the environment", env: "three days", wantErr: `FLEXAUTH_WELCOME_LINK_TTL="three days"`},
		{name: "under a minute", args: []string{"--welcome-link-ttl", "10s"}, wantErr: "--welcome-link-ttl 10s: at least 1m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("FLEXAUTH_WELCOME_LINK_TTL", tt.env)
			fs := flag.NewFlagSet("worker", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var pf pluginFlags
			pf.register(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			plugins, cfg, err := pf.host(slog.New(slog.DiscardHandler), activities.Config{})
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
			if cfg.WelcomeLinkTTL != tt.want {
				t.Fatalf("WelcomeLinkTTL = %v, want %v", cfg.WelcomeLinkTTL, tt.want)
			}
		})
	}
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
	tests := []struct {
		name    string
		env     string
		args    []string
		want    time.Duration
		wantErr string
	}{
		{name: "an hour by default", want: time.Hour},
		{name: "the environment sets it", env: "30m", want: 30 * time.Minute},
		{name: "the flag wins over the environment", env: "30m", args: []string{"--reset-link-ttl", "2h"}, want: 2 * time.Hour},
		{name: "a bad value in the environment", env: "an hour", wantErr: `FLEXAUTH_RESET_LINK_TTL="an hour"`},
		{name: "under a minute", args: []string{"--reset-link-ttl", "10s"}, wantErr: "--reset-link-ttl 10s: at least 1m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("FLEXAUTH_WELCOME_LINK_TTL", "")
			t.Setenv("FLEXAUTH_RESET_LINK_TTL", tt.env)
			fs := flag.NewFlagSet("worker", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var pf pluginFlags
			pf.register(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			plugins, cfg, err := pf.host(slog.New(slog.DiscardHandler), activities.Config{})
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
			if cfg.ResetLinkTTL != tt.want || cfg.WelcomeLinkTTL != activities.DefaultWelcomeLinkTTL {
				t.Fatalf("ResetLinkTTL = %v, WelcomeLinkTTL = %v; want %v and the welcome default", cfg.ResetLinkTTL, cfg.WelcomeLinkTTL, tt.want)
			}
		})
	}
}
