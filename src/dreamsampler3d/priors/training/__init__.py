"""Training code of the embedded flat-icon prior (see train_prior.main)."""
