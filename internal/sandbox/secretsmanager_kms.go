package sandbox

import (
	"errors"
	"strings"
)

// Secrets Manager encrypts every secret value with a KMS key: the one the
// secret names in KmsKeyId (a key ID, key ARN, alias name or alias ARN) or
// the account's AWS managed key aws/secretsmanager, made on first use.
// Writing a value (CreateSecret with a value, PutSecretValue) needs the
// key usable for kms:GenerateDataKey; reading one (GetSecretValue) needs
// the key that encrypted it usable for kms:Decrypt. The answers are the
// ones the Secrets Manager API reference documents: EncryptionFailure and
// DecryptionFailure when the key is missing, disabled or pending deletion,
// and AccessDeniedException "Access to KMS is not allowed" when the caller
// may not use the key, which includes any caller from another account
// with the AWS managed key (its key policy admits only its own account,
// and cannot be changed).

const (
	smEncryptionFailure = "Secrets Manager can't encrypt the protected secret text using the provided KMS key. Check that the KMS key is available, enabled, and not in an invalid state."
	smDecryptionFailure = "Secrets Manager can't decrypt the protected secret text using the provided KMS key."
	smKMSDenied         = "Access to KMS is not allowed"
)

// smViaService is the kms:ViaService value of Secrets Manager's calls.
func smViaService(r *request) string { return "secretsmanager." + r.region + ".amazonaws.com" }

// smSecretOwner returns the account that owns a secret (the caller's for
// a secret being created).
func smSecretOwner(r *request, sec *Secret) *Account {
	if sec.ARN != "" {
		if a := r.st.Accounts[smOwnerID(sec)]; a != nil {
			return a
		}
	}
	return r.acct
}

// smEncryptionKey returns the key a new version of sec is encrypted with,
// or the error Secrets Manager answers when it cannot use it.
func smEncryptionKey(r *request, sec *Secret) (*KMSKey, error) {
	owner := smSecretOwner(r, sec)
	var key *KMSKey
	if sec.KmsKeyID == "" {
		key = kmsManagedKey(r.now, owner, r.region, "secretsmanager")
	} else {
		k, _, err := kmsFindFrom(r, owner, sec.KmsKeyID, true)
		if err != nil {
			return nil, smKMSError(err, smErr("EncryptionFailure", smEncryptionFailure))
		}
		key = k
	}
	if err := smUseKey(r, key, "kms:GenerateDataKey", map[string]string{"SecretARN": sec.ARN}); err != nil {
		return nil, smKMSError(err, smErr("EncryptionFailure", smEncryptionFailure))
	}
	return key, nil
}

// smDecryptionKey checks that the key that encrypted v can decrypt it for
// the caller.
func smDecryptionKey(r *request, sec *Secret, v *SecretVersion) error {
	owner := smSecretOwner(r, sec)
	id := v.KMSKeyARN
	if id == "" {
		id = sec.KmsKeyID
	}
	var key *KMSKey
	if id == "" {
		key = kmsManagedKey(r.now, owner, r.region, "secretsmanager")
	} else {
		k, _, err := kmsFindFrom(r, owner, id, true)
		if err != nil {
			return smKMSError(err, smErr("DecryptionFailure", smDecryptionFailure))
		}
		key = k
	}
	if err := smUseKey(r, key, "kms:Decrypt", map[string]string{"SecretARN": sec.ARN, "SecretVersionId": v.ID}); err != nil {
		return smKMSError(err, smErr("DecryptionFailure", smDecryptionFailure))
	}
	return nil
}

// smUseKey is Secrets Manager's call to KMS on the caller's behalf: the
// key's state, the AWS managed key's refusal of other accounts, and the
// authorization hook with kms:ViaService set and Secrets Manager's
// encryption context (the secret's ARN, and the version's ID on reads),
// which a grant's constraints can name.
func smUseKey(r *request, key *KMSKey, action string, encCtx map[string]string) error {
	if err := kmsUsable(key); err != nil {
		return err
	}
	if key.Manager == "AWS" && r.caller.AccountID != smKeyAccount(key) {
		return errAccessToKMS
	}
	if err := r.srv.authorizeKMSContext(r, key, action, smViaService(r), encCtx); err != nil {
		return errAccessToKMS
	}
	return nil
}

// errAccessToKMS marks a refusal by the key's policy.
var errAccessToKMS = errors.New("access to KMS denied")

// smKMSError turns KMS's refusal into Secrets Manager's answer: an
// authorization failure is AccessDeniedException; anything else (a missing,
// disabled or pending-deletion key) is fallback.
func smKMSError(err, fallback error) error {
	if errors.Is(err, errAccessToKMS) {
		return errf(400, "AccessDeniedException", smKMSDenied)
	}
	return fallback
}

// smKeyAccount is the account that owns a key, from its ARN.
func smKeyAccount(k *KMSKey) string {
	// arn:aws:kms:REGION:ACCOUNT:key/ID
	parts := strings.SplitN(k.ARN, ":", 6)
	if len(parts) < 5 {
		return ""
	}
	return parts[4]
}
