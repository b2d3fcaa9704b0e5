package activities

import (
	"slices"

	"github.com/prospect-sync/prospect-sync/prospect"
)

// FetchProspectInput names the prospect to read.
type FetchProspectInput struct {
	ProspectID int64
}

// FetchProspectResult is the prospect, or Found=false when Account Engagement does not know it.
type FetchProspectResult struct {
	Found    bool
	Prospect prospect.Prospect
}

// FindMatchesInput is what to look up in Salesforce.
type FindMatchesInput struct {
	// ProspectID is whose lookup it is: a survivor of a merge that another prospect's sync
	// links is told apart from one this prospect's sync links.
	ProspectID int64 `json:",omitempty"`
	Email      string
	// LinkedType and LinkedID name the record the prospect is linked to, if any.
	LinkedType string
	LinkedID   string
	// LeadFields and ContactFields are the mapped Salesforce fields to read on each object.
	LeadFields    []string
	ContactFields []string
	// RecentFields names, by record type (prospect.TypeLead, prospect.TypeContact), the mapped
	// Salesforce fields whose behaviour is "the most recently updated value" (:recent): the
	// lookup reads their field history for the linked record, in its own composite, so that a
	// change on both sides goes to the side that changed the field last (docs/salesforce.md
	// "Field history"). Nil reads no history. RecentFieldsOf fills it from the settings.
	RecentFields map[string][]string `json:",omitempty"`
}

// RecentFieldsOf is FindMatchesInput.RecentFields for the settings' field mapping: the
// Salesforce fields mapped with prospect.MasterRecent, by the record types they apply to; nil
// when there are none.
func RecentFieldsOf(s prospect.Settings) map[string][]string {
	var out map[string][]string
	for _, m := range s.FieldMapping {
		if m.Master != prospect.MasterRecent {
			continue
		}
		for _, typ := range []string{prospect.TypeLead, prospect.TypeContact} {
			if !m.AppliesTo(typ) || slices.Contains(out[typ], m.Salesforce) {
				continue
			}
			if out == nil {
				out = map[string][]string{}
			}
			out[typ] = append(out[typ], m.Salesforce)
		}
	}
	return out
}

// FindMatchesResult is the lookup's outcome.
type FindMatchesResult struct {
	Matches prospect.Matches
}

// CreateLeadInput describes the Lead to create for a prospect.
type CreateLeadInput struct {
	ProspectID int64
	Email      string
	// Fields are the Lead fields to set (mapped values, placeholders applied).
	Fields map[string]string
	// OwnerID is the Salesforce user to own the Lead; "" leaves it to Salesforce.
	OwnerID string
	// UseAssignmentRule sends the Lead through the active assignment rule (R5).
	UseAssignmentRule bool
	// ReadFields are the mapped Lead fields to report back in the result.
	ReadFields []string
}

// CreateLeadResult is the Lead that now exists for the prospect.
type CreateLeadResult struct {
	Record prospect.Record
	// Existing is true when a retry found the Lead an earlier attempt had created.
	Existing bool
	// Held is set, and nothing was written, while an operator's pause holds every write.
	Held *Pause `json:",omitempty"`
}

// UpdateRecordInput is a field update on a Lead or Contact.
type UpdateRecordInput struct {
	Type   string
	ID     string
	Fields map[string]string
}

// UpdateRecordResult is empty: success means Salesforce accepted every field.
type UpdateRecordResult struct {
	// Held is set, and nothing was written, while an operator's pause holds every write.
	Held *Pause `json:",omitempty"`
}

// WriteBackInput is what to write to the prospect in Account Engagement.
type WriteBackInput struct {
	ProspectID int64
	// Fields are Account Engagement fields by v5 name.
	Fields map[string]string
	// AssignOwnerID, when set, is a Salesforce user whose Account Engagement user becomes
	// the prospect's assigned user (owner flowing back from Salesforce).
	AssignOwnerID string
	// CurrentAssignedUserID is the prospect's assigned user before the write.
	CurrentAssignedUserID int64
}

// WriteBackResult reports what was written.
type WriteBackResult struct {
	// AssignedUserID is the prospect's assigned user after the write; 0 when unassigned.
	AssignedUserID int64
	// Prospect is the prospect after the write; zero when nothing was written.
	Prospect prospect.Prospect
	// Held is set, and nothing was written, while an operator's pause holds every write.
	Held *Pause `json:",omitempty"`
}

// ArchiveInput names the prospect to send to Account Engagement's recycle bin, or to bring
// back from it (by its email, as the undelete action finds it).
type ArchiveInput struct {
	ProspectID int64
	Email      string
}

// ArchiveResult reports the prospect after the archive or unarchive.
type ArchiveResult struct {
	// Prospect is the prospect brought back (UnarchiveProspect); zero for an archive.
	Prospect prospect.Prospect
	// Held is set, and nothing was written, while an operator's pause holds every write.
	Held *Pause `json:",omitempty"`
}
