package execute

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/keyrot/keyrot/internal/sandbox"
)

func sandboxFault(kind, service, op string, times int) sandbox.Fault {
	return sandbox.Fault{Kind: kind, Service: service, Operation: op, Code: "InternalServiceError", Status: 500, Times: times}
}

// readWith reads a secret signing with the given key.
func readWith(w *world, id, secret, secretID string) error {
	_, err := secretsmanager.NewFromConfig(w.keyConfig(id, secret)).GetSecretValue(context.Background(),
		&secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
	return err
}
