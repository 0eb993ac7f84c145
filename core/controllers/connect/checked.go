package connect

import (
	"fmt"
	"maps"

	"k8s.io/apimachinery/pkg/types"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// checkRecord is what a Provider's status describes: the check the Provider
// controller made with a connection built from these Secrets (by
// resourceVersion), and the account it found.
type checkRecord struct {
	uid      types.UID
	versions map[string]string
	account  string
}

// MarkChecked records that p's status (as just written) describes a check
// made with conn. Until a Provider's status describes the connection a
// referrer would use, the referrer waits (Ready): a Secret that changed may
// point the same endpoint at another account, and nothing may be written
// there before the Provider's check has said whose it is.
func (c *Connector) MarkChecked(p pailv1.ProviderObject, conn *Connection) {
	if conn == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.checked == nil {
		c.checked = map[string]checkRecord{}
	}
	c.checked[ProviderKey(p)] = checkRecord{uid: p.GetUID(), versions: conn.secretVersions, account: p.ProviderStatus().Account}
}

// describes reports whether p, as the referrer read it, reports the check
// made with conn's Secrets: a connection rebuilt for a changed Secret, or
// a Provider read before its new status reached the cache, does not.
func (c *Connector) describes(p pailv1.ProviderObject, conn *Connection) bool {
	c.mu.Lock()
	rec, ok := c.checked[ProviderKey(p)]
	c.mu.Unlock()
	return describedBy(rec, ok, p, conn)
}

// describedBy is describes' decision, without the lock.
func describedBy(rec checkRecord, ok bool, p pailv1.ProviderObject, conn *Connection) bool {
	return ok && rec.uid == p.GetUID() && rec.account == p.ProviderStatus().Account && maps.Equal(rec.versions, conn.secretVersions)
}

// uncheckedError is the Waiting error of a referrer whose Provider has not
// yet been checked with the connection it would use.
func uncheckedError(p pailv1.ProviderObject) *Error {
	return &Error{Reason: pailv1.ReasonProviderNotReady, Wait: true,
		Message: fmt.Sprintf("%s is being checked again with its current Secrets.", p.Reference())}
}
