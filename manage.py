#!/usr/bin/env python
from copps.manage import main

if __name__ == "__main__":
    main()
