"""The model layer: columns, declarative models, relationships, instance state."""
