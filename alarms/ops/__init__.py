"""Operations: what lets an operator see the pipeline from outside (DESIGN §6 Operations)."""
