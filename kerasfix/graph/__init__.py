"""The model graph read from source, and static shape/parameter inference."""
