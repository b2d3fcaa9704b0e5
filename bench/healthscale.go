package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/prospect-sync/prospect-sync/health"
	"github.com/prospect-sync/prospect-sync/prospect"
	"github.com/prospect-sync/prospect-sync/workflows"
)

// healthScale is the -health-syncs phase: `starter health` over N syncs in visibility.
type healthScale struct {
	Syncs int `json:"syncs"`
	// StartSeconds is how long putting them in visibility took.
	StartSeconds float64 `json:"startSeconds"`
	// HealthSeconds and Parts are the report's time, whole and by part; CountSeconds, the
	// baseline, one visibility count of them all.
	HealthSeconds float64           `json:"healthSeconds"`
	Parts         map[string]string `json:"parts"`
	CountSeconds  float64           `json:"countSeconds"`
}

// unpolledQueue is a task queue no worker polls: the workflows started on it stay running with
// the search attributes they were started with, their tasks never run.
const unpolledQueue = "bench-health-unpolled"

// healthSyncs puts N ProspectSync workflows in visibility as a large deployment has them (half
// Synced, 40 % waiting for assignment, 10 % failing with one of three codes), started with
// their search attributes on a queue no worker polls, so building them costs no sync's work,
// then times the health report over them. What the report reads of them is exactly what it
// reads in production: visibility. Its five queries per error code, which would wait for a
// worker here, are left out (they are a constant, whatever N).
func (b *bench) healthSyncs(ctx context.Context) (*healthScale, error) {
	n := b.cfg.HealthSyncs
	r := &healthScale{Syncs: n}
	codes := []string{prospect.CodeInvalidEmail, "REQUIRED_FIELD_MISSING", "DUPLICATES_DETECTED"}
	b.logf("health: putting %d syncs in visibility", n)
	start := time.Now()
	err := b.startMany(ctx, n, func(ctx context.Context, i int) error {
		id := int64(500000000 + i)
		attrs := []temporal.SearchAttributeUpdate{workflows.AttrProspectID.ValueSet(strconv.FormatInt(id, 10))}
		switch {
		case i%10 < 5:
			attrs = append(attrs, workflows.AttrSyncState.ValueSet(string(prospect.StateSynced)), workflows.AttrCRMRecordID.ValueSet(fmt.Sprintf("00Q%015d", i)))
		case i%10 < 9:
			attrs = append(attrs, workflows.AttrSyncState.ValueSet(string(prospect.StateWaitingForAssignment)))
		default:
			attrs = append(attrs, workflows.AttrSyncState.ValueSet(string(prospect.StateSyncError)), workflows.AttrSyncErrorCode.ValueSet(codes[(i/10)%len(codes)]))
		}
		_, err := b.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.ProspectWorkflowID(id), TaskQueue: unpolledQueue,
			TypedSearchAttributes: temporal.NewSearchAttributes(attrs...)}, workflows.ProspectSyncWorkflow, workflows.ProspectSyncInput{ProspectID: id})
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := b.waitCount(ctx, workflows.StateQuery(""), n); err != nil {
		return nil, err
	}
	r.StartSeconds = time.Since(start).Seconds()
	start = time.Now()
	if _, err := workflows.Count(ctx, b.c, workflows.StateQuery("")); err != nil {
		return nil, err
	}
	r.CountSeconds = time.Since(start).Seconds()
	rep := health.Reporter{Temporal: b.c, SF: b.sf, AE: b.ae, SFReserve: 0.1, AEReserve: 0.1, Samples: -1}
	start = time.Now()
	out, err := rep.Report(ctx)
	if err != nil {
		return nil, err
	}
	r.HealthSeconds, r.Parts = time.Since(start).Seconds(), out.Parts
	b.logf("health: over %d syncs in %.2f s %v (one count of them: %.3f s)", n, r.HealthSeconds, r.Parts, r.CountSeconds)
	return r, nil
}
