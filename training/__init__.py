"""Training our FaceNet-style embedding network (PyTorch); the app never imports this."""
