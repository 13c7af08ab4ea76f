"""Train one run (or a sweep with -m): `python train.py strategy=dann task=sentiment`."""

from nlp_transfer.train import main

if __name__ == "__main__":
    main()
