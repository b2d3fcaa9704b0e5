package prospect

import (
	"fmt"
	"maps"
	"strings"
	"time"
)

// Base is what the sync last synced: both sides' email and mapped values as of the last
// successful sync. A side whose value still equals the base did not change; one whose value
// differs did; both differing is a conflict. Without it a linked record whose email differs
// from the prospect's could be an edit on either side, and answering a person's edit in
// Salesforce as if it were one in Account Engagement creates a second record (docs/rules.md).
type Base struct {
	// Email is the prospect's email in Account Engagement; RecordEmail the record's.
	Email       string `json:"email"`
	RecordEmail string `json:"recordEmail"`
	// Engagement holds the mapped fields' Account Engagement values by v5 name; Salesforce the
	// record's values by API name.
	Engagement map[string]string `json:"engagement,omitempty"`
	Salesforce map[string]string `json:"salesforce,omitempty"`
}

// BaseAfter is the base once a sync with rec has written its updates: the prospect with the
// prospect updates applied, the record with the record updates applied.
func BaseAfter(p Prospect, rec Record, recordUpdates, prospectUpdates map[string]string, s Settings) *Base {
	b := &Base{Email: strings.TrimSpace(p.Email), RecordEmail: strings.TrimSpace(rec.Email),
		Engagement: map[string]string{}, Salesforce: map[string]string{}}
	if v, ok := prospectUpdates["email"]; ok {
		b.Email = v
	}
	if v, ok := recordUpdates["Email"]; ok {
		b.RecordEmail = v
	}
	for _, m := range s.FieldMapping {
		if !m.AppliesTo(rec.Type) {
			continue
		}
		ae, ok := prospectUpdates[m.Engagement]
		if !ok {
			ae = p.Field(m.Engagement)
		}
		b.Engagement[m.Engagement] = strings.TrimSpace(ae)
		if sf, ok := recordUpdates[m.Salesforce]; ok {
			b.Salesforce[m.Salesforce] = strings.TrimSpace(sf)
		} else if sf, ok := rec.Fields[m.Salesforce]; ok {
			b.Salesforce[m.Salesforce] = strings.TrimSpace(sf)
		}
	}
	return b
}

// BaseOfRead is the base a sync takes when it has none (a run from before bases were kept):
// its first read, both sides as they are, so nothing counts as changed until one side moves.
func BaseOfRead(p Prospect, rec Record, s Settings) *Base { return BaseAfter(p, rec, nil, nil, s) }

// Why a sync stopped syncing with a record and will not match or create another until a
// person allows it (Link.Flag). All show as CrmDeleted, as the connector flags such prospects.
const (
	// FlagDeleted: the record was deleted in Salesforce. The only flag a restore clears by
	// itself; a Link.Deleted without a flag (recorded before flags) means this too.
	FlagDeleted = "deleted"
	// FlagEmailTaken: the record's email changed in Salesforce to one another prospect has.
	FlagEmailTaken = "email-taken"
	// FlagUnlinked: the record's email changed in Salesforce with SYNC_SALESFORCE_EMAIL_CHANGES=unlink.
	FlagUnlinked = "unlinked"
	// FlagMerged: the record was merged into one another prospect syncs with.
	FlagMerged = "merged"
)

// Restorable reports whether a restore of the linked record in Salesforce relinks the sync:
// only when it stopped because that record was deleted.
func (l Link) Restorable() bool {
	return l.Deleted && l.ID != "" && (l.Flag == "" || l.Flag == FlagDeleted)
}

// FieldNote is a decision about one mapped field, shown in the sync's history and the UI:
// the field, both sides' values, the side that won and why.
type FieldNote struct {
	Field      string `json:"field"`
	Engagement string `json:"engagement"`
	Salesforce string `json:"salesforce"`
	// Winner is MasterEngagement or MasterSalesforce.
	Winner string `json:"winner"`
	Why    string `json:"why"`
}

func (n FieldNote) String() string {
	return fmt.Sprintf("%s: Account Engagement %q, Salesforce %q: %s's value, %s", n.Field, n.Engagement, n.Salesforce, sideName(n.Winner), n.Why)
}

func sideName(side string) string {
	if side == MasterSalesforce {
		return "Salesforce"
	}
	return "Account Engagement"
}

// fieldChange tells which side changed one field since the base.
type fieldChange struct{ ae, sf bool }

// changedSince compares current values with the base; without a base nothing is known to have
// changed, and the master decides as before bases existed.
func changedSince(b *Base, m FieldMapping, ae, sf string, placeholder string) fieldChange {
	if b == nil {
		return fieldChange{}
	}
	baseAE, okAE := b.Engagement[m.Engagement]
	baseSF, okSF := b.Salesforce[m.Salesforce]
	if baseSF == placeholder {
		baseSF = ""
	}
	return fieldChange{ae: okAE && baseAE != ae, sf: okSF && baseSF != sf}
}

// resolveField picks the side whose value a field takes; both values are trimmed, differ, and
// the placeholder already counts as empty. Under MasterRecent a change on both sides goes to
// the later one: Account Engagement's updatedAt (aeAt) against, when Salesforce's field
// history knows it (sfFieldAt not zero), the time the field last changed in Salesforce, as the
// connector compares; otherwise the record's LastModifiedDate (sfAt).
func resolveField(m FieldMapping, ae, sf string, c fieldChange, aeAt, sfAt, sfFieldAt time.Time) (winner, why string) {
	switch {
	case sf == "":
		return MasterEngagement, "a non-empty value beats an empty one"
	case ae == "":
		return MasterSalesforce, "a non-empty value beats an empty one"
	}
	switch m.Master {
	case MasterEngagement:
		if c.sf && !c.ae {
			return MasterEngagement, "changed in Salesforce, overwritten: Account Engagement is this field's master"
		}
		return MasterEngagement, "Account Engagement is this field's master"
	case MasterSalesforce:
		if c.ae && !c.sf {
			return MasterSalesforce, "changed in Account Engagement, overwritten: Salesforce is this field's master"
		}
		return MasterSalesforce, "Salesforce is this field's master"
	}
	// MasterRecent.
	switch {
	case c.ae && !c.sf:
		return MasterEngagement, "changed in Account Engagement only"
	case c.sf && !c.ae:
		return MasterSalesforce, "changed in Salesforce only"
	case !sfFieldAt.IsZero() && sfFieldAt.After(aeAt):
		return MasterSalesforce, fmt.Sprintf("most recently updated: Salesforce's field history has %s changed at %s, after Account Engagement's updatedAt %s",
			m.Salesforce, sfFieldAt.UTC().Format(time.RFC3339), aeAt.UTC().Format(time.RFC3339))
	case !sfFieldAt.IsZero():
		return MasterEngagement, fmt.Sprintf("most recently updated: Account Engagement's updatedAt %s is not before Salesforce's field history, which has %s changed at %s",
			aeAt.UTC().Format(time.RFC3339), m.Salesforce, sfFieldAt.UTC().Format(time.RFC3339))
	case sfAt.After(aeAt):
		return MasterSalesforce, fmt.Sprintf("most recently updated: Salesforce's LastModifiedDate %s is after Account Engagement's updatedAt %s",
			sfAt.UTC().Format(time.RFC3339), aeAt.UTC().Format(time.RFC3339))
	default:
		return MasterEngagement, fmt.Sprintf("most recently updated: Account Engagement's updatedAt %s is not before Salesforce's LastModifiedDate %s",
			aeAt.UTC().Format(time.RFC3339), sfAt.UTC().Format(time.RFC3339))
	}
}

// cloneBase is b with maps of its own, for a caller that changes it.
func cloneBase(b *Base) *Base {
	if b == nil {
		return nil
	}
	c := *b
	c.Engagement, c.Salesforce = maps.Clone(b.Engagement), maps.Clone(b.Salesforce)
	return &c
}
