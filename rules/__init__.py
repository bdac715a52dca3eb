"""The catalogue of Keras API changes, as TOML data read by kerasfix."""
