"""Lightning callbacks of the project (the NaN guard) and Hydra callbacks around multiruns."""
