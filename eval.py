"""Evaluate a finished run's checkpoint: `python eval.py run_dir=logs/sentiment/runs/<run>`."""

from nlp_transfer.eval import main

if __name__ == "__main__":
    main()
