"""What users take away (layer 6): plots, the HTML report, event logs and the STRESS-DES checklist."""
