// Package host runs plugins as child processes for the flexauth worker and
// gives it one call per use: Host.Send for delivery plugins, Host.Lookup for
// identity plugins (Spec.Kind says which a process is).
//
// It owns the plugin processes' lifecycle: launch on first use (after
// verifying the executable's checksum when one is configured, and then
// running the verified bytes themselves: pin_linux.go), Configure
// after every launch, relaunch after a crash, and kill on Close. Child
// processes get a minimal environment (PATH, TMPDIR) so that plugins never
// see the worker's database credentials or other secrets; they receive
// only their own Config. Plugin logs are forwarded to the host's slog
// logger with the plugin's name attached.
//
// Discover lists a plugin folder and refuses the executables someone other
// than flexauth's user (or root) could have changed; LoadConfig reads the
// operator's configuration, whose entries and routing may name the
// folder's plugins.
//
// It speaks to a process through plugins/internal/grpcclient, which
// dispenses sdk.Delivery and sdk.IdentityProvider over gRPC and turns the
// plugin's statuses into the sdk's errors.
//
// The package does not retry: it classifies errors (sdk.ErrPermanent or
// temporary) and leaves retries to the caller, a Temporal activity. It must
// not import workflow, activity or storage code.
package host
