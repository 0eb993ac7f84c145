package abi

import "strings"

// SubResource describes one bucket sub-resource: everything the host diff,
// the capability check, the drivers and the conformance suite switch on.
// SubResources holds every one; sdk/ABI.md repeats its rules in a table that
// a test keeps equal to it.
type SubResource struct {
	// Name is the JSON name of its BucketConfig field, what
	// BucketArgs.Observe and BucketObservation.Unsupported hold, and the
	// first word of its error messages.
	Name string
	// Capability is what a driver declares when it can read and write it.
	Capability string
	// Extras are the further capabilities some of its values need (Needs
	// says which value needs which).
	Extras []string
	// Field is the Go name of its BucketConfig field.
	Field string
	// CreateOnly names the part of it (a JSON field of its value) that only
	// the create sets, through BucketArgs.ObjectLock with Create; "" when
	// all of it may be written to an existing bucket. A driver refuses a
	// later write that would change that part, and the host reports a
	// difference in it instead of writing it.
	CreateOnly string
	// Rule says what may be written, and when. sdk/ABI.md repeats it.
	Rule string

	get    func(*BucketConfig) any
	set    func(*BucketConfig, any)
	isSet  func(*BucketConfig) bool
	extras func(BucketConfig) []string
	fixed  func(BucketConfig) any
}

// SubResources lists every bucket sub-resource, in the order ApplyBucket
// writes them. objectLock comes last: the create sets it, and a later write
// changes only its default retention.
var SubResources = []SubResource{
	entry(SubVersioning, "Versioning", func(c *BucketConfig) **Versioning { return &c.Versioning },
		"any time; status Enabled or Suspended (S3 never turns versioning back off); mfaDelete needs the mfaDelete capability and BucketArgs.MFA").
		needing([]string{SubMFADelete}, func(c BucketConfig) []string {
			if c.Versioning.MFADelete != "" {
				return []string{SubMFADelete}
			}
			return nil
		}),
	entry(SubEncryption, "Encryption", func(c *BucketConfig) **Encryption { return &c.Encryption },
		"any time; algorithm \"\" removes the default encryption; aws:kms needs the sseKms capability").
		needing([]string{SubSSEKMS}, func(c BucketConfig) []string {
			if strings.HasPrefix(c.Encryption.Algorithm, "aws:kms") {
				return []string{SubSSEKMS}
			}
			return nil
		}),
	entry(SubPublicAccessBlock, "PublicAccessBlock", func(c *BucketConfig) **PublicAccessBlock { return &c.PublicAccessBlock },
		"any time; all four flags false removes it"),
	entry(SubLifecycle, "Lifecycle", func(c *BucketConfig) **Lifecycle { return &c.Lifecycle },
		"any time; no rules removes the configuration"),
	entry(SubCORS, "CORS", func(c *BucketConfig) **CORS { return &c.CORS },
		"any time; no rules removes the configuration"),
	entry(SubTagging, "Tagging", func(c *BucketConfig) **Tagging { return &c.Tagging },
		"any time; the complete tag set, no tags removes it; a refused tag set is reported after the other writes; the host writes its ownership mark (keys starting pail.dev/) through it, so a driver that does not declare tagging holds no mark"),
	entry(SubPolicy, "Policy", func(c *BucketConfig) **Policy { return &c.Policy },
		"any time; an empty document removes the policy"),
	entry(SubObjectLock, "ObjectLock", func(c *BucketConfig) **ObjectLock { return &c.ObjectLock },
		"enabled is create-only: the create sets it (BucketArgs.ObjectLock with Create) and nothing turns it on or off later "+
			"(MinIO cannot enable it on an existing bucket; AWS can, on versioned buckets only, so a portable ABI does not); "+
			"defaultRetention may be written any time to a bucket that has object lock enabled. A later write that would enable "+
			"object lock is refused with Conflict, one that would disable it with InvalidArgument").
		createOnly("enabled", func(c BucketConfig) any { return c.ObjectLock.Enabled }),
}

// entry describes the sub-resource held in the BucketConfig field that ptr
// points to; its capability is its name.
func entry[T any](name, field string, ptr func(*BucketConfig) **T, rule string) SubResource {
	return SubResource{
		Name: name, Capability: name, Field: field, Rule: rule,
		get: func(c *BucketConfig) any { return *ptr(c) },
		set: func(c *BucketConfig, v any) {
			if v == nil {
				*ptr(c) = nil
				return
			}
			*ptr(c) = v.(*T) //nolint:forcetypeassert // Set documents that v is the field's type; a wrong one is a programming error
		},
		isSet: func(c *BucketConfig) bool { return *ptr(c) != nil },
	}
}

func (s SubResource) needing(extras []string, needs func(BucketConfig) []string) SubResource {
	s.Extras, s.extras = extras, needs
	return s
}

func (s SubResource) createOnly(part string, value func(BucketConfig) any) SubResource {
	s.CreateOnly, s.fixed = part, value
	return s
}

// Get returns the field of cfg that holds s, as its pointer type (a nil
// pointer of that type when unset), so values compare with their types.
func (s SubResource) Get(cfg BucketConfig) any { return s.get(&cfg) }

// Has reports whether cfg sets s.
func (s SubResource) Has(cfg BucketConfig) bool { return s.isSet(&cfg) }

// Set stores v, a pointer of the field's type or nil, in the field of cfg
// that holds s. Any other type is a programming error and panics.
func (s SubResource) Set(cfg *BucketConfig, v any) { s.set(cfg, v) }

// Clear unsets s in cfg.
func (s SubResource) Clear(cfg *BucketConfig) { s.set(cfg, nil) }

// Needs lists the capabilities the value cfg sets for s needs: Capability,
// then those of Extras the value uses. None when cfg does not set s.
func (s SubResource) Needs(cfg BucketConfig) []string {
	if !s.Has(cfg) {
		return nil
	}
	out := []string{s.Capability}
	if s.extras != nil {
		out = append(out, s.extras(cfg)...)
	}
	return out
}

// Fixed returns the create-only part (CreateOnly) of the value cfg sets for
// s; nil when s has none or cfg does not set it.
func (s SubResource) Fixed(cfg BucketConfig) any {
	if s.fixed == nil || !s.Has(cfg) {
		return nil
	}
	return s.fixed(cfg)
}

// SubResourceNamed finds the sub-resource called name.
func SubResourceNamed(name string) (SubResource, bool) {
	for _, s := range SubResources {
		if s.Name == name {
			return s, true
		}
	}
	return SubResource{}, false
}

// BucketCapabilities lists every capability a bucket sub-resource needs, in
// SubResources order: each one's capability, then its extras.
func BucketCapabilities() []string {
	var out []string
	for _, s := range SubResources {
		out = append(out, s.Capability)
		out = append(out, s.Extras...)
	}
	return out
}
