"""Territory management (issue 4): editor, import/export, balance wizard, reassignment."""
