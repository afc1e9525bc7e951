package backends

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/keyrot/keyrot/internal/secretstore"
)

// getSecretValueAPI is the Secrets Manager call token_secret needs.
type getSecretValueAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ getSecretValueAPI = (*secretsmanager.Client)(nil)

// SecretsManager reads token_secret references: the current version's
// SecretString of the secret with that ARN.
type SecretsManager struct{ API getSecretValueAPI }

// SecretString returns the secret's current value.
func (s SecretsManager) SecretString(ctx context.Context, arn string) (secretstore.Secret, error) {
	out, err := s.API.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return secretstore.Secret{}, fmt.Errorf("get secret value: %w", err)
	}
	if out.SecretString == nil {
		return secretstore.Secret{}, errors.New("the secret holds binary data, not a token")
	}
	return secretstore.NewSecret(*out.SecretString), nil
}
