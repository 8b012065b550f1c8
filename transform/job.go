package transform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Job is one BuildContext as a process that runs templates out of its
// caller's process reads it (the companion's template builds, see
// ARCHITECTURE.md): JSON on the child's stdin, a JobResult on its stdout.
// Numbers in Input travel as json.Number (ReadJob decodes with UseNumber),
// which is how Vault's client hands them over, so the child builds the
// same bytes as BuildContext would in the caller.
type Job struct {
	Resolved Resolved `json:"resolved"`
	Input    Input    `json:"input"`
	// Time, Output and Work are the Bounds.
	Time   time.Duration `json:"time"`
	Output int64         `json:"output"`
	Work   int64         `json:"work"`
	// Memory is the child's memory limit (bytes), for its own watchdog.
	Memory int64 `json:"memory"`
}

// JobResult is what the child writes: the data, or Build's error (which
// holds no secret value: see Build), typed as far as the caller tells
// errors apart (Err).
type JobResult struct {
	Data   map[string][]byte `json:"data,omitempty"`
	Error  string            `json:"error,omitempty"`
	Render *RenderError      `json:"render,omitempty"`
	Encode *EncodeError      `json:"encode,omitempty"`
	Raw    bool              `json:"raw,omitempty"` // ErrRawNotPermitted
}

// Err is the result's error as Build returned it (a *RenderError's bound
// cause is kept as its message only), or nil.
func (r *JobResult) Err() error {
	switch {
	case r.Render != nil:
		return r.Render
	case r.Encode != nil:
		return r.Encode
	case r.Raw:
		return ErrRawNotPermitted
	case r.Error != "":
		return errors.New(r.Error)
	}
	return nil
}

// Bounds of the job.
func (j *Job) Bounds() Bounds { return Bounds{Time: j.Time, Output: j.Output, Work: j.Work} }

// ReadJob decodes a Job, numbers as json.Number.
func ReadJob(r io.Reader) (*Job, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var j Job
	if err := dec.Decode(&j); err != nil {
		return nil, fmt.Errorf("reading the template job: %w", err)
	}
	return &j, nil
}

// RunJob builds j within its bounds and ctx and returns its result.
func RunJob(ctx context.Context, j *Job) JobResult {
	data, err := BuildContext(ctx, j.Resolved, j.Input, j.Bounds())
	if err == nil {
		return JobResult{Data: data}
	}
	res := JobResult{Error: err.Error()}
	var rerr *RenderError
	var eerr *EncodeError
	switch {
	case errors.As(err, &rerr):
		res.Render = rerr
	case errors.As(err, &eerr):
		res.Encode = eerr
	case errors.Is(err, ErrRawNotPermitted):
		res.Raw = true
	}
	return res
}

// EncodeJob writes j as the child reads it.
func EncodeJob(j *Job) ([]byte, error) {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(j); err != nil {
		return nil, fmt.Errorf("encoding the template job: %w", err)
	}
	return b.Bytes(), nil
}
