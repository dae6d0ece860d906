"""The demo (`colend demo`, run by `run.py`): four banks and a regulator through a day of joint lending.

`day` plans the day, `posting` sends each bank's part to its node, `settlement` clears the cycle,
`network` starts the nodes, `services` the clearing services, `books` writes each bank's books with
planted mistakes, `bank_recon` reads a bank's reconciliation, `checks` judges the run and `summary`
prints it. Nothing is imported here, so importing one module does not load the others.
"""
