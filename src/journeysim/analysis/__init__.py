"""What the runs mean (layer 5): exact quality, metrics, leverage, cascade, Six Sigma,
dependence, costs, comparisons and warm-up, and the text and HTML views of these results.
"""
