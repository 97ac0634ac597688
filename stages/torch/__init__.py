"""PyTorch sources: TorchScript archives (.pt) and torch.export archives (.pt2), in the `torch` runtime."""
