"""Fitting: the one training path for scikit-learn estimators and PyTorch nets."""
