package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Security notices: messages that tell a user what happened to their
// credentials ("an authenticator app was set up", "your two-factor was
// reset"), so that a change someone else made does not go unseen. A notice
// rides the credential link outbox (a row, a CredentialLink delivery
// workflow, notice.sent in the audit trail) but has no token: it is never
// drawn, used or expired, and a newer one does not void it. The change
// that calls for one writes it in its own transaction (ChangeRecord).

// LinkNotice is the purpose of a notice: not a link, but it rides the
// same outbox (a row, a delivery workflow, audited once sent) with no
// token: it is never drawn, used or expired, and a newer one does not
// void it.
const LinkNotice = "notice"

// Kinds of notices, in CredentialLink.Notice["kind"].
const (
	NoticePasswordReset    = "password_reset"           // the password was reset with a link
	NoticeTOTPEnabled      = "totp_enabled"             // an authenticator app was enrolled
	NoticeRecoveryCodes    = "recovery_codes_generated" // a new set of recovery codes replaced the old one
	NoticeTwoFactorReset   = "two_factor_reset"         // the authenticator and recovery codes were removed
	NoticePasswordChanged  = "password_changed"         // the password was changed with the current one
	NoticeRecoveryCodeUsed = "recovery_code_used"       // a recovery code signed in
	NoticeRecoveredByEmail = "recovered_by_email"       // a link sent to the verified address reset two-factor
)

// Who made the change a notice tells of, in CredentialLink.Notice["by"].
const (
	NoticeBySelf          = "self"          // the user, in the security settings
	NoticeByAdministrator = "administrator" // an administrator of the account
	NoticeBySignIn        = "sign-in"       // the user, while signing in
)

// The fields of CredentialLink.Notice.
const (
	noticeFieldKind   = "kind"
	noticeFieldAt     = "at"
	noticeFieldIP     = "ip"
	noticeFieldBy     = "by"
	noticeFieldSystem = "system"
)

// NoticeOf is what a notice to a user says: its kind, when and from which
// address it happened, and who did it (one of the NoticeBy values).
type NoticeOf struct {
	Kind   string
	At     time.Time
	IP     string
	By     string
	System string // the system signed in to, for a recovery code
}

// NewNotice is the outbox row of a notice with ID id to the user.
func NewNotice(id, accountID, userID string, n NoticeOf) CredentialLink {
	fields := map[string]string{
		noticeFieldKind: n.Kind, noticeFieldAt: n.At.UTC().Format(time.RFC3339Nano), noticeFieldIP: n.IP, noticeFieldBy: n.By,
	}
	if n.System != "" {
		fields[noticeFieldSystem] = n.System
	}
	return CredentialLink{ID: id, AccountID: accountID, UserID: userID, Purpose: LinkNotice, CreatedAt: n.At.UTC(), Notice: fields}
}

// NoticeOfLink reads back what a notice row says.
func NoticeOfLink(l CredentialLink) NoticeOf {
	at, _ := time.Parse(time.RFC3339Nano, l.Notice[noticeFieldAt])
	return NoticeOf{
		Kind: l.Notice[noticeFieldKind], At: at, IP: l.Notice[noticeFieldIP], By: l.Notice[noticeFieldBy],
		System: l.Notice[noticeFieldSystem],
	}
}

// ChangeRecord is what a change to a user's credentials writes beside its
// own rows, in the same transaction: its audit events and, when set, a
// notice to the user.
type ChangeRecord struct {
	Events []AuditEvent
	Notice *CredentialLink
}

// recorded runs write, then stores the record, in one transaction.
func (s *Store) recorded(ctx context.Context, rec ChangeRecord, write func(ctx context.Context, db bun.IDB) error) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := write(ctx, tx); err != nil {
			return err
		}
		return writeRecord(ctx, tx, rec)
	})
}

// writeRecord appends a change's events and notice.
func writeRecord(ctx context.Context, db bun.IDB, rec ChangeRecord) error {
	if err := insertNotice(ctx, db, rec.Notice); err != nil {
		return err
	}
	return appendAudit(ctx, db, rec.Events)
}

// insertNotice queues a notice (nil for none).
func insertNotice(ctx context.Context, db bun.IDB, n *CredentialLink) error {
	if n == nil {
		return nil
	}
	if n.Purpose != LinkNotice || n.Digest != "" || n.Notice[noticeFieldKind] == "" {
		return fmt.Errorf("queue notice %s: not a notice", n.ID)
	}
	if _, err := db.NewInsert().Model(n).Exec(ctx); err != nil {
		return conflict(err, "notice "+n.ID)
	}
	return nil
}
