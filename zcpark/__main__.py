from zcpark.cli import main

raise SystemExit(main())
