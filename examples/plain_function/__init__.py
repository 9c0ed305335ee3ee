"""Routes stay plain functions: unit-test them without any event."""
