"""``python -m idp.cli``: the ``idp`` command."""

from idp.cli import main

if __name__ == "__main__":
    main()
