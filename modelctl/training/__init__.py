"""Training: turning a spec's training section into Keras objects and running it."""
