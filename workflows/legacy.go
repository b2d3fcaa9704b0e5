package workflows

import (
	"strings"

	"github.com/prospect-sync/prospect-sync/prospect"
)

// Replay-only: what runs from before changeLinkInState did. They kept the link in Account
// Engagement's CRM id fields, which its v5 API treats as read-only (docs/engagement.md), and
// wrote the ids and the [[crm_deleted]] markers there. Recorded histories of such runs must
// replay as they ran, so their runs still decide with these; new runs never do.
//
// Retire once no run started before changeLinkInState is open: the syncs idle out after
// SYNC_IDLE_TIMEOUT and legacy runs completed (they did not go quiet), so a deployment whose
// oldest running ProspectSync started after link-in-sync-state shipped can drop this file,
// the GetVersion branch in ProspectSync, and the v0-* replay fixtures.

// crmIDFields are the prospect's CRM id fields, which carried the link and the markers.
var crmIDFields = []string{"salesforceId", "salesforceLeadId", "salesforceContactId"}

// legacyLink reads the link the way those runs did: from the CRM id fields and markers.
func legacyLink(p prospect.Prospect) prospect.Link {
	l := prospect.Link{OwnerID: p.CRMOwnerID, Deleted: p.HasMarker(prospect.MarkerCRMDeleted)}
	l.Type, l.ID = p.Linked()
	return l
}

// legacyDecision adds to a decision what those runs wrote to Account Engagement: the record's
// ids and owner with a link, the markers with a deletion.
func legacyDecision(p prospect.Prospect, d prospect.Decision) prospect.Decision {
	switch d.Action {
	case prospect.ActionLink:
		d.ProspectUpdates = legacyFields(p, *d.Record, d.ProspectUpdates)
	case prospect.ActionMarkDeleted:
		d.ProspectUpdates = map[string]string{}
		for _, name := range crmIDFields {
			d.ProspectUpdates[name] = prospect.MarkerCRMDeleted
		}
	}
	return d
}

// legacyFields adds the CRM ids and owner of rec to a write-back, as those runs did; nil when
// there is nothing to write.
func legacyFields(p prospect.Prospect, rec prospect.Record, updates map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range updates {
		out[k] = v
	}
	set := func(field, current, want string) {
		if current != want {
			out[field] = want
		}
	}
	set("salesforceId", p.CRMID, rec.ID)
	if rec.Type == prospect.TypeContact {
		set("salesforceContactId", p.CRMContactID, rec.ID)
	} else {
		set("salesforceLeadId", p.CRMLeadID, rec.ID)
		// A Contact linked before (say, before an email change) is no longer this prospect's.
		if c := p.CRMContactID; c != "" && !strings.HasPrefix(c, "[[") {
			out["salesforceContactId"] = ""
		}
	}
	if rec.OwnerID != "" {
		set("salesforceOwnerId", p.CRMOwnerID, rec.OwnerID)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
