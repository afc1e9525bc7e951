package sandbox

import (
	"context"
	"sync"
	"time"
)

// RotationHandler stands in for a Secrets Manager rotation Lambda function.
// The sandbox calls it once per rotation step, in AWS's order: createSecret,
// setSecret, testSecret, finishSecret. secretID is the secret's ARN and
// clientRequestToken the version ID of the new (AWSPENDING) version, which the
// handler creates itself with PutSecretValue in the createSecret step and makes
// AWSCURRENT with UpdateSecretVersionStage in the finishSecret step, as a real
// rotation function does. Handlers normally call back into the sandbox over
// HTTP; the sandbox never holds its lock while a handler runs.
type RotationHandler func(ctx context.Context, step, secretID, clientRequestToken string) error

// smRotationTimeout bounds one whole rotation, as Lambda's timeout would.
const smRotationTimeout = 5 * time.Minute

// smRotations holds the registered rotation handlers and tracks rotations
// in flight.
type smRotations struct {
	mu       sync.Mutex
	handlers map[string]RotationHandler
	wg       sync.WaitGroup
	// lastErr is the error of the most recent failed rotation, by secret ARN.
	lastErr map[string]error
}

// RegisterRotationHandler makes h the rotation function with the given Lambda
// ARN: RotateSecret on a secret whose RotationLambdaARN is lambdaARN runs h.
func (s *Server) RegisterRotationHandler(lambdaARN string, h RotationHandler) {
	s.smRot.mu.Lock()
	defer s.smRot.mu.Unlock()
	if s.smRot.handlers == nil {
		s.smRot.handlers = map[string]RotationHandler{}
	}
	s.smRot.handlers[lambdaARN] = h
}

// WaitForRotations blocks until every rotation started by RotateSecret has
// finished, and returns the error of the last failed rotation of each secret
// (nil when all succeeded). Rotations run asynchronously, as in AWS.
func (s *Server) WaitForRotations() map[string]error {
	s.smRot.wg.Wait()
	s.smRot.mu.Lock()
	defer s.smRot.mu.Unlock()
	if len(s.smRot.lastErr) == 0 {
		return nil
	}
	out := make(map[string]error, len(s.smRot.lastErr))
	for k, v := range s.smRot.lastErr {
		out[k] = v
	}
	return out
}

func (s *Server) smRotationHandler(lambdaARN string) RotationHandler {
	s.smRot.mu.Lock()
	defer s.smRot.mu.Unlock()
	return s.smRot.handlers[lambdaARN]
}

// smStartRotation runs the rotation steps in a goroutine. It is called with
// s.mu held and must not wait for anything that needs it.
func (s *Server) smStartRotation(h RotationHandler, secretARN, token string, steps []string, onDone func(error)) {
	s.smRot.wg.Add(1)
	go func() {
		defer s.smRot.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), smRotationTimeout)
		defer cancel()
		var err error
		for _, step := range steps {
			if err = h(ctx, step, secretARN, token); err != nil {
				s.log.Warn("sandbox rotation step failed", "secret", secretARN, "step", step, "err", err)
				break
			}
		}
		s.smRot.mu.Lock()
		if s.smRot.lastErr == nil {
			s.smRot.lastErr = map[string]error{}
		}
		if err != nil {
			s.smRot.lastErr[secretARN] = err
		} else {
			delete(s.smRot.lastErr, secretARN)
		}
		s.smRot.mu.Unlock()
		s.mu.Lock()
		onDone(err)
		s.mu.Unlock()
	}()
}
