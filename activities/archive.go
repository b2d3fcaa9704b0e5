package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/prospect-sync/prospect-sync/internal/httperror"
)

// ArchiveProspect sends a prospect to Account Engagement's recycle bin, as the connector does
// when its record is deleted in Salesforce (SYNC_SALESFORCE_DELETES=archive). A prospect already
// there is archived: a retry changes nothing.
func (a *Activities) ArchiveProspect(ctx context.Context, in ArchiveInput) (ArchiveResult, error) {
	if p := a.held(); p != nil {
		return ArchiveResult{Held: p}, nil
	}
	if err := admit(a.AEBudget); err != nil {
		return ArchiveResult{}, err
	}
	err := a.AE.DeleteProspect(ctx, in.ProspectID)
	if httperror.KindOf(err) == httperror.Gone {
		return ArchiveResult{}, nil
	}
	return ArchiveResult{}, classify(err)
}

// UnarchiveProspect brings a prospect back from Account Engagement's recycle bin, as the
// connector does when its record is restored. The undelete action finds the prospect by email;
// one that is already back counts as brought back (a retry), and one that is another prospect
// is refused as a data error.
func (a *Activities) UnarchiveProspect(ctx context.Context, in ArchiveInput) (ArchiveResult, error) {
	if p := a.held(); p != nil {
		return ArchiveResult{Held: p}, nil
	}
	if err := admit(a.AEBudget); err != nil {
		return ArchiveResult{}, err
	}
	p, err := a.AE.UndeleteProspect(ctx, in.Email)
	if httperror.KindOf(err) == httperror.Gone {
		// Nothing in the bin with that email: back already (an earlier attempt), or gone for good.
		live, gerr := a.AE.GetProspect(ctx, in.ProspectID)
		if gerr != nil {
			return ArchiveResult{}, classify(gerr)
		}
		return ArchiveResult{Prospect: fromEngagement(live)}, nil
	}
	if err != nil {
		return ArchiveResult{}, classify(err)
	}
	if p.ID != in.ProspectID {
		return ArchiveResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("Account Engagement restored prospect %d for %s, not prospect %d", p.ID, in.Email, in.ProspectID), ErrTypeDataError, nil)
	}
	return ArchiveResult{Prospect: fromEngagement(p)}, nil
}
